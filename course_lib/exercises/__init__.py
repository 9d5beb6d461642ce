"""Self-checking exercises: a stub the learner fills in, a check cell, a hidden solution.

A check is a function decorated with `@exercise`: given the learner's function it reports "not attempted
yet" while the stub still raises NotImplementedError (so a chapter executes in CI untouched), says
"correct" when the answer passes, and raises an AssertionError with a hint when it does not.
"""
import functools


def exercise(check):
    """Wrap `check(answer, ...)`: untouched stub -> 'not attempted yet'; wrong -> AssertionError with a hint."""
    @functools.wraps(check)
    def run(answer, *args, **kwargs):
        try:
            check(answer, *args, **kwargs)
        except NotImplementedError:
            print(f"{check.__name__}: not attempted yet (fill in the stub above, then run this cell again)")
            return
        print(f"{check.__name__}: correct!")
    return run
