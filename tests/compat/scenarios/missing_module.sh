# make succeeds but does not produce the module named in dkms.conf.
m=dkms_missing_test
run add "$MODULES/$m-1.0"
run build $m/1.0 -k "$K_OLD"
run status
run remove $m/1.0 --all
