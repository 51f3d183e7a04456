# dkms status with module, version and kernel filters.
run add "$MODULES/dkms_hello_test-1.0"
run add "$MODULES/dkms_ver_test-1.0"
run add "$MODULES/dkms_ver_test-2.0"
run build dkms_hello_test/1.0 -k "$K_OLD"
run install dkms_ver_test/2.0 -k "$K_NEW"
run status
run status dkms_ver_test
run status -m dkms_ver_test
run status dkms_ver_test/2.0
run status -m dkms_ver_test -v 1.0
run status -k "$K_OLD"
run status -k "$K_NEW" -a "$ARCH"
run status -m dkms_hello_test -k "$K_NEW"
run status nosuch_module
run status dkms_ver_test/3.0
