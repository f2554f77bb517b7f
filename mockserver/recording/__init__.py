"""The recording proxy: forwarding to upstreams, exchanges turned into stubs, written safely,
record modes, drift.
"""
