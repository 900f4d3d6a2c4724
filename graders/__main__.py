"""`python -m graders` is the same as the `mastery` command."""

from graders.cli import main

if __name__ == "__main__":
    main()
