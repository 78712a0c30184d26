"""`python -m minikeras script.py [args...]`: run an unchanged Keras script on minikeras."""
import os
import runpy
import sys

from minikeras import hook

USAGE = "usage: python -m minikeras script.py [args...]"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    script = argv[0]
    if not os.path.isfile(script):
        print(f"minikeras: cannot open script '{script}': no such file", file=sys.stderr)
        return 2
    hook.install()
    sys.argv = list(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
