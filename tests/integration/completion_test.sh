#!/bin/bash
# Shell completion: sources data/completion/dkms.bash with a fake dkms tree
# and install tree given on the command line (--dkmstree, --installtree,
# --sourcetree) and checks the candidates offered; then drives the zsh
# completion (data/completion/_dkms) through a pseudo-terminal when zsh is
# installed.
#   completion_test.sh [path-to-dkms-binary]   (the binary is not needed)
set -u

repo=${DKMS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# Fake trees: modules foo (1.0 installed on a kernel, 2.1) and bar (0.5);
# two kernels, one with headers for x86; two source directories.
tree=$work/tree
kernels=$work/modules
sources=$work/src
mkdir -p "$tree/foo/1.0/6.1.0-56-amd64/x86_64/module" "$tree/foo/2.1" \
	"$tree/bar/0.5" "$tree/foo/original_module/6.1.0-56-amd64" \
	"$kernels/6.1.0-56-amd64/build/arch/x86" "$kernels/6.12.1-amd64" \
	"$sources/newmod-3.0" "$sources/newmod-3.1" "$sources/other-1"
ln -s 1.0/6.1.0-56-amd64/x86_64 "$tree/foo/kernel-6.1.0-56-amd64-x86_64"
: >"$tree/mok.key"

sed -e 's,@MODDIR@,/lib/modules,g' "$repo/data/completion/dkms.bash" >"$work/dkms.bash"

# --- bash ---------------------------------------------------------------

# complete_line "dkms word word " -> prints the sorted candidates for the
# last (possibly empty) word, one per line.
complete_line() {
	(
		# shellcheck disable=SC1091
		source "$work/dkms.bash"
		read -r -a COMP_WORDS <<<"$1"
		[[ $1 == *' ' ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE=$1
		COMP_POINT=${#1}
		_dkms dkms "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf '%s\n' "${COMPREPLY[@]}" | sort
	)
}

# expect_candidates LINE EXPECTED... : the candidates must be exactly these.
expect_candidates() {
	local line=$1 got want
	shift
	got=$(complete_line "$line")
	want=$(printf '%s\n' "$@" | sort)
	[[ $got == "$want" ]] || fail "bash '$line': got [${got//$'\n'/ }], want [${want//$'\n'/ }]"
}

# expect_includes LINE WORD... : each word must be among the candidates.
expect_includes() {
	local line=$1 got word
	shift
	got=$(complete_line "$line")
	for word in "$@"; do
		grep -qxF -- "$word" <<<"$got" || fail "bash '$line': '$word' not offered (got ${got//$'\n'/ })"
	done
}

if [[ $(complete_line "dkms ") != *kernel_postinst* ]]; then
	fail "actions are not offered for the first word"
fi
expect_candidates "dkms " add autoinstall build generate_mok install \
	kernel_postinst kernel_preinst kernel_prerm ldtarball match mktarball \
	remove status unbuild uninstall
expect_candidates "dkms kernel_p" kernel_postinst kernel_preinst kernel_prerm
expect_candidates "dkms un" unbuild uninstall
# An action may follow options.
expect_candidates "dkms --dkmstree $tree st" status

expect_candidates "dkms build --dkmstree $tree -m " bar foo
expect_candidates "dkms --dkmstree $tree remove -m f" foo
expect_candidates "dkms --dkmstree $tree remove -m foo -v " 1.0 2.1
expect_candidates "dkms --dkmstree $tree build -m bar -v " 0.5
expect_candidates "dkms --dkmstree=$tree uninstall -m foo -v 2" 2.1
expect_candidates "dkms --dkmstree $tree status " bar/0.5 foo/1.0 foo/2.1
expect_candidates "dkms --dkmstree $tree install foo/" foo/1.0 foo/2.1
expect_candidates "dkms --sourcetree $sources add -m " newmod other
expect_candidates "dkms --sourcetree $sources add -m newmod -v " 3.0 3.1

expect_candidates "dkms --installtree $kernels build -k " 6.1.0-56-amd64 6.12.1-amd64
expect_candidates "dkms kernel_prerm --installtree=$kernels -k 6.12" 6.12.1-amd64
expect_candidates "dkms match --installtree $kernels --templatekernel 6.1.0" 6.1.0-56-amd64
expect_candidates "dkms build -a " "$(uname -m)"

expect_includes "dkms match --templ" --templatekernel
expect_includes "dkms mktarball --" --source-only --binaries-only --archive --all
expect_includes "dkms install -" --force -m -v -k --dkmstree
expect_candidates "dkms install --force-v" --force-version-override

# Path options complete files and directories.
mkdir -p "$work/pathdir/subdir"
: >"$work/pathdir/archive.tar.gz"
expect_includes "dkms ldtarball --archive $work/pathdir/ar" "$work/pathdir/archive.tar.gz"
expect_includes "dkms build --kernelsourcedir $work/pathdir/s" "$work/pathdir/subdir"

# --- zsh ----------------------------------------------------------------

if ! command -v zsh >/dev/null; then
	echo "zsh not installed: zsh completion not tested"
else
	mkdir -p "$work/fpath"
	sed -e 's,@MODDIR@,/lib/modules,g' "$repo/data/completion/_dkms" >"$work/fpath/_dkms"
	# Types LINE and one TAB into an interactive zsh and prints the screen
	# text with terminal escapes removed.
	cat >"$work/drive.zsh" <<'EOF'
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PS1='PROMPT> '; fpath=($1 \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z "zstyle ':completion:*' format '<%d>'; unsetopt listambiguous automenu; LISTMAX=1000; print READY"
zpty -r z out '*READY*READY*'
zpty -wn z "$2"$'\t'
sleep 1
zpty -wn z $'\C-u'"print DONE"$'\n'
zpty -r z out '*DONE*DONE*'
print -r -- "$out"
zpty -d z
EOF
	zsh_screen() {
		timeout 20 zsh -f "$work/drive.zsh" "$work/fpath" "$1" |
			sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | tr -d '\r'
	}
	# zsh_expect LINE PATTERN... : each extended regex must match the
	# screen; a pattern starting with ! must not.
	zsh_expect() {
		local line=$1 screen pattern
		shift
		screen=$(zsh_screen "$line")
		for pattern in "$@"; do
			if [[ $pattern == !* ]]; then
				! grep -qE -- "${pattern#!}" <<<"$screen" ||
					fail "zsh '$line': unexpected /${pattern#!}/"
			else
				grep -qE -- "$pattern" <<<"$screen" ||
					fail "zsh '$line': no /$pattern/ in: $screen"
			fi
		done
	}
	zsh_expect "dkms " "kernel_prerm +-- " "kernel_postinst +-- " "mktarball +-- " "<dkms action>"
	zsh_expect "dkms --dkmstree=$tree build -m " "<module>" "bar +foo"
	zsh_expect "dkms --dkmstree=$tree remove -m foo -v " "<version>" "1\.0 +2\.1" "!original_module" "!kernel-6"
	zsh_expect "dkms --installtree=$kernels build -k " "<kernel>" "6\.1\.0-56-amd64 +6\.12\.1-amd64"
	zsh_expect "dkms --installtree=$kernels build -k 6.1.0-56-amd64/" "6\.1\.0-56-amd64/x86"
	zsh_expect "dkms --dkmstree $tree status " "<module/version>" "bar/? +foo/?"
fi

if ((failures)); then
	echo "$failures completion check(s) failed" >&2
	exit 1
fi
echo "completion: all checks passed"
