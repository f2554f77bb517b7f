"""The pure core: the stub model, patterns and matching, HTTP decisions, rendering, the store and
journal. No aiohttp, no sockets, no event loop, no pytest, no argparse.
"""
