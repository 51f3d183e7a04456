# dkms.conf computing values from $kernelver, per kernel.
m=dkms_kver_test
run add "$MODULES/$m-1.0"
run build $m/1.0 -k "$K_OLD"
run build $m/1.0 -k "$K_NEW"
for k in "$K_OLD" "$K_NEW"; do
    show_modinfo /var/lib/dkms/$m/1.0/$k/$ARCH/module/$m.ko kver_branch kver_major
done
run status
run remove $m/1.0 --all
