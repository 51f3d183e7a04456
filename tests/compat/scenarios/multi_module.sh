# Two modules in one package, one renamed on install, one in a subdirectory.
m=dkms_multi_test
run add "$MODULES/$m-1.0"
run install $m/1.0 -k "$K_OLD"
show_modinfo /lib/modules/$K_OLD/updates/dkms/dkms_multi_renamed.ko version
run status
run uninstall $m/1.0 -k "$K_OLD"
run status
run remove $m/1.0 --all
