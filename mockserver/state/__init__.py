"""Where state shared by replicas lives: this process's memory (the default) or Redis.

``serve --state redis://HOST:PORT/DB`` lets any number of replicas (containers, pods,
``--workers``) share runtime stubs, scenario states, sequence positions, resources and the
journal. Static stubs from files are never read from Redis per request.
"""
