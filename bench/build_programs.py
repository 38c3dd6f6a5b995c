"""The programs a comparison script runs from a build directory (--build, and --baseline for an
older build beside it), checked before any work: a wrong directory is one line and exit 2, not a
traceback after minutes of PyTorch runs."""
import os


def check_programs(parser, flag, build, programs):
    """Exits through parser.error unless every program (a path inside `build`) is there and
    executable."""
    for program in programs:
        path = os.path.join(build, program)
        if not os.access(path, os.X_OK):
            parser.error(f"{flag} {build}: expected the built program {program} there, found none")
