# Command-line errors and informational options.
run --bogus-option
run
run build install -m dkms_hello_test -v 1.0
run build -m dkms_hello_test -v 1.0 -k "$K_OLD" --all
run --version
run -V
run --help
run frobnicate
run build
run build -m dkms_hello_test
run status -m
run remove -m dkms_hello_test -v 1.0
