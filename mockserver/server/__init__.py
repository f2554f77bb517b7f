"""The aiohttp shell: one low-level handler, the admin API, limits, faults, prebuilt answers,
reload and the runner.
"""
