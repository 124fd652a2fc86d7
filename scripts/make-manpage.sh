#!/usr/bin/env bash
# Generates meshca(1) and the bash completion from the binary's own --help
# text, so the manual and the completion never drift from the CLI.
#   scripts/make-manpage.sh MESHCA_BIN OUT_MAN OUT_COMPLETION
set -euo pipefail
bin=$1 man=$2 completion=$3
version=$("$bin" --version | awk '{print $2}')

# command groups and their subcommands, as `meshca <group> --help` lists them
groups=$("$bin" --help | awk '/^commands:/ {on=1; next} /^$/ {on=0} on && /^  [a-z]/ {print $1}' | sort -u)
subcommands() { "$bin" "$1" --help 2>/dev/null | awk '/^(sub)?commands:/ {on=1; next} /^$/ {on=0} on && /^  [a-z]/ && $1 ~ /^[a-z-]+$/ {print $1}' | sort -u; }

roff_escape() { sed -e 's/\\/\\\\/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\&'/" -e 's/-/\\-/g'; }

{
  echo ".TH MESHCA 1 \"\" \"meshca $version\" \"User Commands\""
  echo ".SH NAME"
  echo "meshca \\- offline PKI ceremonies and service-mesh CA bundles from one YAML plan"
  echo ".SH SYNOPSIS"
  echo ".B meshca"
  echo ".I command"
  echo "[\\fIoptions\\fR]"
  echo ".SH DESCRIPTION"
  echo ".nf"
  "$bin" --help | roff_escape
  echo ".fi"
  for g in $groups; do
    echo ".SH \"MESHCA $(echo "$g" | tr '[:lower:]' '[:upper:]')\""
    echo ".nf"
    "$bin" "$g" --help 2>/dev/null | roff_escape || true
    echo ".fi"
    for s in $(subcommands "$g"); do
      echo ".SS \"meshca $g $s\""
      echo ".nf"
      "$bin" "$g" "$s" --help 2>/dev/null | roff_escape || true
      echo ".fi"
    done
  done
  echo ".SH FILES"
  echo "Plans are YAML (see /usr/share/doc/meshca/plan-reference.md); outputs are written under the directory given to \\fB\\-\\-out\\fR."
  echo ".SH \"SEE ALSO\""
  echo "openssl(1), pkcs11\\-tool(1), softhsm2\\-util(1)"
} >"$man"

{
  echo "# bash completion for meshca (generated from meshca --help by scripts/make-manpage.sh)"
  echo "_meshca() {"
  echo '  local cur=${COMP_WORDS[COMP_CWORD]} group=${COMP_WORDS[1]} sub=${COMP_WORDS[2]}'
  echo "  if [ \"\$COMP_CWORD\" -eq 1 ]; then COMPREPLY=(\$(compgen -W \"$(echo $groups) --help --version\" -- \"\$cur\")); return; fi"
  echo '  case "$group" in'
  for g in $groups; do
    subs=$(subcommands "$g" | tr '\n' ' ')
    gopts=$("$bin" "$g" --help 2>/dev/null | grep -oE -- '--[a-z][a-z-]*' | sort -u | tr '\n' ' ' || true)
    echo "    $g)"
    if [ -n "$subs" ]; then
      echo "      if [ \"\$COMP_CWORD\" -eq 2 ]; then COMPREPLY=(\$(compgen -W \"$subs--help\" -- \"\$cur\")); return; fi"
      echo '      case "$sub" in'
      for s in $subs; do
        opts=$("$bin" "$g" "$s" --help 2>/dev/null | grep -oE -- '--[a-z][a-z-]*' | sort -u | tr '\n' ' ' || true)
        echo "        $s) COMPREPLY=(\$(compgen -W \"$opts\" -- \"\$cur\")) ;;"
      done
      echo '      esac'
    else
      echo "      COMPREPLY=(\$(compgen -W \"$gopts\" -- \"\$cur\"))"
    fi
    echo "      [ \${#COMPREPLY[@]} -eq 0 ] && COMPREPLY=(\$(compgen -f -- \"\$cur\")) ;;"
  done
  echo '  esac'
  echo "}"
  echo "complete -F _meshca meshca"
} >"$completion"
