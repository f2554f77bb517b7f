"""What the pytest plugin builds on: handles, socket-free doubles, the admin client, the container
fixture, strictness and recording in pytest.
"""
