# Installing 2.0 over 1.0, then refusing to go back to 1.0 unless forced.
m=dkms_ver_test
run add "$MODULES/$m-1.0"
run add "$MODULES/$m-2.0"
run install $m/1.0 -k "$K_OLD"
show_modinfo /lib/modules/$K_OLD/updates/dkms/$m.ko version
run install $m/2.0 -k "$K_OLD"
show_modinfo /lib/modules/$K_OLD/updates/dkms/$m.ko version
run status
run install $m/1.0 -k "$K_OLD"
run status $m
run install $m/1.0 -k "$K_OLD" --force
show_modinfo /lib/modules/$K_OLD/updates/dkms/$m.ko version
run status
run uninstall $m/1.0 -k "$K_OLD"
run status
run remove $m/2.0 --all
run remove $m/1.0 --all
run status
