"""`python server.py [--host 127.0.0.1] [--port 8000] [--index DIR]` → the kb web app (waitress)."""
import sys

from kb.cli import main

if __name__ == "__main__":
    main(["serve", *sys.argv[1:]])
