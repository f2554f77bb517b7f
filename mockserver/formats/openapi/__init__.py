"""OpenAPI documents served and checked: loading, answers generated from schemas, request and
response validation.
"""
