"""serve --workers: a supervisor, its worker processes and their shared sockets."""
