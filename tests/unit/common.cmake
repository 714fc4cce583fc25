# common/ suites (owned by whoever works on common/)
