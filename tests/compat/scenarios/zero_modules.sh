# A package that declares no modules at all.
m=dkms_zero_test
run add "$MODULES/$m-1.0"
run build $m/1.0 -k "$K_OLD"
run install $m/1.0 -k "$K_OLD"
run status
run uninstall $m/1.0 -k "$K_OLD"
run remove $m/1.0 --all
