"""API Gateway invoke: routing, requests, templates, usage plans, validation (used by planes/apigateway_invoke.py)."""
