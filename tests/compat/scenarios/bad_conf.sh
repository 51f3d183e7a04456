# Invalid dkms.conf (bad DEST_MODULE_LOCATION) and a tree without dkms.conf.
m=dkms_badconf_test
run add "$MODULES/$m-1.0"
run status
run build $m/1.0 -k "$K_OLD"
mkdir -p /usr/src/dkms_noconf_test-1.0
run add -m dkms_noconf_test -v 1.0
run build -m dkms_noconf_test -v 1.0 -k "$K_OLD"
mkdir -p noconf-by-path
run add noconf-by-path
run add /nonexistent/dkms_nothing-1.0
run status
run remove $m/1.0 --all
