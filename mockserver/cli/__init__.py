"""The command line: commands, options and their environment variables, healthcheck, import and
diff.
"""
