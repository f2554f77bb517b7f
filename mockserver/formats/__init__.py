"""What a stubs directory may hold, and the loader that reads any of it: stub files, HAR, VCR.py
cassettes, OpenAPI documents.
"""
