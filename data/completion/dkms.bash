# shellcheck shell=bash
# bash completion for dkms(8)
#
# Completes actions, options, module names and versions (from the dkms tree,
# or from the source tree for "add"), kernel versions (from the install
# tree) and paths. --dkmstree, --sourcetree and --installtree given earlier
# on the command line are honoured, so completion shows what dkms would see.

_dkms_actions="add remove build unbuild install uninstall autoinstall match
	mktarball ldtarball status generate_mok kernel_preinst kernel_postinst
	kernel_prerm"

# Adds to COMPREPLY every word of the remaining arguments that starts with
# $cur. Unlike compgen -W this keeps words containing blanks intact.
_dkms_offer()
{
	local word
	for word in "$@"; do
		[[ $word == "$cur"* ]] && COMPREPLY+=("$word")
	done
}

# Prints the names of the directories directly under $1, one per line.
_dkms_list_dirs()
{
	local entry
	for entry in "$1"/*/; do
		[[ -d $entry ]] || continue
		entry=${entry%/}
		printf '%s\n' "${entry##*/}"
	done
}

# Module names registered in the dkms tree. kernel-K-A links live one level
# deeper, so every directory here is a module.
_dkms_tree_modules()
{
	_dkms_list_dirs "$dkms_tree"
}

# Versions of module $1 in the dkms tree, without the kernel-K-A links and
# the saved original modules that share that directory.
_dkms_tree_versions()
{
	local name
	while IFS= read -r name; do
		[[ $name == kernel-*-* || $name == original_module ]] && continue
		printf '%s\n' "$name"
	done < <(_dkms_list_dirs "$dkms_tree/$1")
}

# Source directories are named <module>-<version>; the version is the part
# after the last dash. Prints "module<TAB>version" lines.
_dkms_source_pairs()
{
	local name
	while IFS= read -r name; do
		[[ $name == ?*-?* ]] || continue
		printf '%s\t%s\n' "${name%-*}" "${name##*-}"
	done < <(_dkms_list_dirs "$source_tree")
}

_dkms_complete_paths()
{
	if declare -F _filedir >/dev/null; then
		_filedir "$@"
	elif [[ ${1-} == -d ]]; then
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
	else
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
	fi
}

_dkms()
{
	local cur prev action="" module="" word value i
	local dkms_tree=/var/lib/dkms source_tree=/usr/src install_tree=@MODDIR@
	local -a words=()

	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=""
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}

	# With "=" in COMP_WORDBREAKS, "--opt=value" arrives as three words.
	if [[ $cur == = ]]; then
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		cur=""
	elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	fi

	# Rejoin the words before the cursor so "--opt=value" is one word, then
	# pick up the action, the module and any tree overrides.
	for ((i = 1; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		if [[ $word == = && ${#words[@]} -gt 0 ]]; then
			words[-1]+="="
		elif [[ ${#words[@]} -gt 0 && ${words[-1]} == *= ]]; then
			words[-1]+=$word
		else
			words+=("$word")
		fi
	done
	for ((i = 0; i < ${#words[@]}; i++)); do
		word=${words[i]}
		value=${words[i + 1]-}
		case $word in
			--dkmstree=*) dkms_tree=${word#*=} ;;
			--sourcetree=*) source_tree=${word#*=} ;;
			--installtree=*) install_tree=${word#*=} ;;
			--module=*) module=${word#*=} ;;
			--dkmstree) dkms_tree=$value ;;
			--sourcetree) source_tree=$value ;;
			--installtree) install_tree=$value ;;
			-m | --module) module=$value ;;
			-*) ;;
			*)
				if [[ -z $action && " ${_dkms_actions//[$'\n\t']/ } " == *" $word "* ]]; then
					action=$word
				fi
				;;
		esac
	done
	module=${module%%/*}

	case $prev in
		-a | --arch)
			_dkms_offer "$(uname -m)"
			return 0
			;;
		-m | --module)
			if [[ $action == add ]]; then
				local -A seen=()
				local name
				while IFS=$'\t' read -r name _; do
					seen[$name]=1
				done < <(_dkms_source_pairs)
				_dkms_offer "${!seen[@]}"
			else
				mapfile -t words < <(_dkms_tree_modules)
				_dkms_offer "${words[@]}"
			fi
			return 0
			;;
		-v)
			[[ -n $module ]] || return 0
			if [[ $action == add ]]; then
				local name version
				while IFS=$'\t' read -r name version; do
					[[ $name == "$module" ]] && _dkms_offer "$version"
				done < <(_dkms_source_pairs)
			else
				mapfile -t words < <(_dkms_tree_versions "$module")
				_dkms_offer "${words[@]}"
			fi
			return 0
			;;
		-k | --kernelver | --templatekernel)
			mapfile -t words < <(_dkms_list_dirs "$install_tree")
			_dkms_offer "${words[@]}"
			return 0
			;;
		-c | --archive | --config)
			_dkms_complete_paths
			return 0
			;;
		--kernelsourcedir | --dkmstree | --sourcetree | --installtree)
			_dkms_complete_paths -d
			return 0
			;;
		-j | --directive)
			return 0
			;;
	esac

	if [[ $cur == -* ]]; then
		local options
		case $action in
			add) options="-c --rpm_safe_upgrade --force" ;;
			remove) options="--rpm_safe_upgrade" ;;
			build) options="--config --force -j" ;;
			install) options="--config --force --force-version-override
				--no-depmod --modprobe-on-install --symlink-modules -j" ;;
			uninstall | unbuild | kernel_prerm) options="--no-depmod" ;;
			autoinstall | kernel_postinst | kernel_preinst)
				options="--force -j --no-depmod" ;;
			match) options="--templatekernel" ;;
			mktarball) options="--source-only --binaries-only --archive" ;;
			ldtarball) options="--archive --force" ;;
			*) options="" ;;
		esac
		options+=" -m -v -k -a --arch -q --quiet -V --version -h --help --all
			--kernelsourcedir --directive --dkmstree --sourcetree
			--installtree --verbose"
		# shellcheck disable=SC2086 # the lists are split on purpose
		_dkms_offer $options
		return 0
	fi

	if [[ -z $action ]]; then
		# shellcheck disable=SC2086
		_dkms_offer $_dkms_actions
		return 0
	fi

	# A positional argument: module/version of the tree, or for add and
	# ldtarball a source directory or an archive.
	case $action in
		add | build | install)
			[[ $cur == */* || $cur == .* ]] && _dkms_complete_paths
			;;
		ldtarball)
			_dkms_complete_paths
			return 0
			;;
		autoinstall | generate_mok | kernel_*)
			return 0
			;;
	esac
	[[ -z $module ]] || return 0
	local name version
	while IFS= read -r name; do
		while IFS= read -r version; do
			_dkms_offer "$name/$version"
		done < <(_dkms_tree_versions "$name")
	done < <(_dkms_tree_modules)
	return 0
}
complete -F _dkms dkms
