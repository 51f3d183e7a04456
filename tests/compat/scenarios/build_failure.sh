# A package whose make fails: build, install (which builds first), status.
m=dkms_fail_test
run add "$MODULES/$m-1.0"
run build $m/1.0 -k "$K_OLD"
show_makelog /var/lib/dkms/$m/1.0/build/make.log
run status
run install $m/1.0 -k "$K_OLD"
run status
run remove $m/1.0 --all
run status
