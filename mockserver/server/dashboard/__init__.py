"""The dashboard at ``GET /__admin/ui``: a page for people (static files shipped in the wheel),
the live journal it reads (server-sent events), and the admin routes only it needs."""
