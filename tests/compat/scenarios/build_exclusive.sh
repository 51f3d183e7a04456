# BUILD_EXCLUSIVE_KERNEL excludes every kernel: build/install skip with 77.
m=dkms_excl_test
run add "$MODULES/$m-1.0"
run build $m/1.0 -k "$K_OLD"
run install $m/1.0 -k "$K_NEW"
run build $m/1.0 -k "$K_OLD" -k "$K_NEW"
run status
run autoinstall -k "$K_OLD"
run remove $m/1.0 --all
