# Default signing: keys are generated under /var/lib/dkms on first build and
# reused afterwards; modules carry a signature. Then a framework.conf that
# points at a missing key.
m=dkms_hello_test
run add "$MODULES/$m-1.0"
run build $m/1.0 -k "$K_OLD"
ls -l /var/lib/dkms/mok.key /var/lib/dkms/mok.pub 2>&1 | awk '{print $1, $NF}'
show_modinfo /var/lib/dkms/$m/1.0/$K_OLD/$ARCH/module/$m.ko sig_hashalgo signer
run build $m/1.0 -k "$K_NEW"
run unbuild $m/1.0 -k "$K_OLD"
mkdir -p /etc/dkms/framework.conf.d
echo 'mok_signing_key="/nonexistent/key.pem"' >/etc/dkms/framework.conf.d/compat.conf
run build $m/1.0 -k "$K_OLD"
show_modinfo /var/lib/dkms/$m/1.0/$K_OLD/$ARCH/module/$m.ko sig_hashalgo
rm /etc/dkms/framework.conf.d/compat.conf
run generate_mok
run remove $m/1.0 --all
