"""Lambda Invoke: the execution environment, workers, logs (used by planes/lambda_invoke.py)."""
