# A package module that replaces a module shipped with the kernel: install
# archives the original, uninstall puts it back.
m=dkms_replace_test
orig=/lib/modules/$K_OLD/kernel/drivers/net/dummy.ko
# A real ELF object carrying a .modinfo section that says version 1.0.
mkdir -p "$(dirname "$orig")"
printf 'version=1.0\0license=GPL\0description=stand-in for the kernel dummy driver\0' >modinfo.bin
echo 'int dkms_compat_stand_in;' | gcc -c -x c - -o stand_in.o
objcopy --add-section .modinfo=modinfo.bin --set-section-flags .modinfo=alloc,readonly stand_in.o "$orig"
show_modinfo "$orig" version
run add "$MODULES/$m-1.0"
run install $m/1.0 -k "$K_OLD"
show_modinfo /lib/modules/$K_OLD/updates/dkms/dummy.ko version
run status
run uninstall $m/1.0 -k "$K_OLD"
show_modinfo "$orig" version
run install $m/1.0 -k "$K_OLD"
run remove $m/1.0 --all
show_modinfo "$orig" version
