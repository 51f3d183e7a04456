# Installed modules follow the compression of the kernel's own modules: the
# newest kernel is made to look xz-compressed (Debian's 6.12 image already
# is, if installed), the oldest one zstd-compressed.
m=dkms_hello_test
mark() { # KERNEL TOOL SUFFIX: a compressed ELF stub dkms will find
    mkdir -p "/lib/modules/$1/kernel/x"
    printf '\177ELF' >"/lib/modules/$1/kernel/x/marker.ko"
    "$2" -q -f "/lib/modules/$1/kernel/x/marker.ko"
    rm -f "/lib/modules/$1/kernel/x/marker.ko"
    ls "/lib/modules/$1/kernel/x/"
}
mark "$K_NEW" xz xz
run add "$MODULES/$m-1.0"
run install $m/1.0 -k "$K_NEW"
show_modinfo /lib/modules/$K_NEW/updates/dkms/$m.ko.xz version
mark "$K_OLD" zstd zst
run install $m/1.0 -k "$K_OLD"
show_modinfo /lib/modules/$K_OLD/updates/dkms/$m.ko.zst version
run status
run uninstall $m/1.0 -k "$K_NEW"
run remove $m/1.0 --all
