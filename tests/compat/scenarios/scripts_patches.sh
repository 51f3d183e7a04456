# PRE/POST scripts and patches, and their make.log blocks.
m=dkms_scripts_test
run add "$MODULES/$m-1.0"
run build $m/1.0 -k "$K_OLD"
show_makelog /var/lib/dkms/$m/1.0/$K_OLD/$ARCH/log/make.log
run install $m/1.0 -k "$K_OLD"
run remove $m/1.0 --all
