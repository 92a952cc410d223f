"""Worker processes started by the tests read the tests' clock (``tests.clock.child_env``).

Python imports ``sitecustomize`` at start-up from the first folder on PYTHONPATH that has one;
the tests put this folder there and the moment in RENEWAL_WORKER_TESTS_CLOCK. The process then
ticks from that moment, as the test that started it does. Only the tests set the variable: the
worker itself never reads it.
"""

import os

_moment = os.environ.get("RENEWAL_WORKER_TESTS_CLOCK")
if _moment:
    import time_machine

    time_machine.travel(_moment, tick=True).start()
