from graphprofile.cli import entrypoint

entrypoint()
