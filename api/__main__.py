"""`python -m api` runs the `dispensary` command."""

from api.cli import main

main()
