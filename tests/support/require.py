"""require(ok, why): a test class's precondition that the build is supposed to meet.

A missing tool from scripts/deps/ or a product `make` builds is a broken build: every test of the
class fails with `why` instead of being skipped (a skip would turn the breakage into a pass).
Skips stay for what the machine legitimately lacks (e.g. root)."""


def require(ok, why):
    def deco(cls):
        if ok:
            return cls

        def setUpClass(c):
            raise AssertionError(why)
        cls.setUpClass = classmethod(setUpClass)
        return cls
    return deco
