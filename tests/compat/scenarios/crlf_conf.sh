# dkms.conf with DOS line endings.
m=dkms_crlf_test
run add "$MODULES/$m-1.0"
run install $m/1.0 -k "$K_OLD"
run status
run remove $m/1.0 --all
