"""The JSON API under /api/v1, documented by flask-smorest from the code."""
