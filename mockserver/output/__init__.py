"""What mockserver says: the request log, its streams and formats, the one-line errors and the
unmatched-request report as text.
"""
