"""Code the notebooks import: configuration, AWS clients, the local cloud, data and the client."""
