# Full life cycle of a simple package on two kernels: add by path, build,
# install, status, uninstall, unbuild, remove.
m=dkms_hello_test
run add "$MODULES/$m-1.0"
run status
run build -m $m -v 1.0 -k "$K_OLD"
show_makelog /var/lib/dkms/$m/1.0/$K_OLD/$ARCH/log/make.log
run build $m/1.0 -k "$K_NEW"
run status
run install $m/1.0 -k "$K_OLD"
run install -m $m -v 1.0 -k "$K_NEW"
run status
run status -k "$K_OLD"
run install $m/1.0 -k "$K_OLD"
run uninstall $m/1.0 -k "$K_OLD"
run status
run unbuild $m/1.0 -k "$K_OLD"
run status
run uninstall $m/1.0 -k "$K_OLD"
run remove $m/1.0 -k "$K_NEW"
run status
run add -m $m -v 1.0
run remove $m/1.0 --all
run status
run remove $m/1.0 --all
