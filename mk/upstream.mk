# Comparison against upstream DKMS 3.2.2 (Debian's trixie package), run in a
# throw-away root (scripts/isolate). Downloads are cached in build/ref/.
#   upstream-check            upstream's own run_test.sh against our build
#   upstream-check-reference  the same suite against upstream itself
#   compat                    transcript comparison, ours vs upstream
#   compat-reference          upstream vs upstream (harness determinism)
# KERNEL_VER=<release> picks the kernel for the suite (default: newest
# with headers); SCENARIO=<name> limits compat to one scenario.
.PHONY: upstream-check upstream-check-reference compat compat-reference

upstream-check: all
	tests/upstream/run.sh --ours $(BUILD_DIR)/dkms $(if $(KERNEL_VER),--kernel $(KERNEL_VER))

upstream-check-reference:
	tests/upstream/run.sh --reference $(if $(KERNEL_VER),--kernel $(KERNEL_VER))

compat: all
	tests/compat/run.sh --ours $(BUILD_DIR)/dkms $(if $(SCENARIO),--scenario $(SCENARIO))

compat-reference:
	tests/compat/run.sh --reference-both $(if $(SCENARIO),--scenario $(SCENARIO))
