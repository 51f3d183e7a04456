# Repeating build/install, and --force.
m=dkms_hello_test
run add "$MODULES/$m-1.0"
run build $m/1.0 -k "$K_OLD"
run build $m/1.0 -k "$K_OLD"
run build $m/1.0 -k "$K_OLD" --force
run install $m/1.0 -k "$K_OLD"
run install $m/1.0 -k "$K_OLD"
run install $m/1.0 -k "$K_OLD" --force
run add "$MODULES/$m-1.0"
run remove $m/1.0 --all
