"""A pytest plugin (`-p course_lib.nbval_wait`) that gives the kernel longer to deliver a cell's outputs under nbval.

nbval waits a hard-coded 5 s for each message that follows a cell's reply (`IPyNbCell.output_timeout`, set in its
`__init__`; not configurable: nbval issues #136 and #231). On a busy 2-core machine, two chapters training side by
side, a long training cell once missed that window and failed with "Timeout of 5 seconds exceeded waiting for
output" although it had run to the end. The cell's own limit stays `--nbval-cell-timeout`; this is only the wait
for outputs already computed. tests/test_runner.py checks the nbval internals this relies on.
"""
import functools

OUTPUT_WAIT_S = 120


def pytest_configure(config):
    from nbval.plugin import IPyNbCell

    if getattr(IPyNbCell.__init__, "_course_wait", False):
        return
    init = IPyNbCell.__init__

    @functools.wraps(init)
    def patient_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.output_timeout = OUTPUT_WAIT_S

    patient_init._course_wait = True
    IPyNbCell.__init__ = patient_init
