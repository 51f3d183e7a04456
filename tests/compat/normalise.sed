# Only what legitimately varies between two runs of the same dkms.
# Temporary directory names (dkms's own and mktemp's).
s/(\.tmp_[A-Za-z0-9_]+_)[A-Za-z0-9]{6}/\1XXXXXX/g
s/dkms\.[A-Za-z0-9]{6}/dkms.XXXXXX/g
s/\/tmp\/tmp\.[A-Za-z0-9]{10}/\/tmp\/tmp.XXXXXXXXXX/g
# Elapsed times in make.log and post_transaction blocks.
s/(# elapsed time: )[0-9]+:[0-9]+:[0-9]+/\1<hh:mm:ss>/
# Progress dots printed every 3 s during long commands.
s/\.\.\.\.+/.../g
