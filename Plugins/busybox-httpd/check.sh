#!/bin/sh
# rbscan plugin (protocol 1) in POSIX sh: BusyBox httpd.conf protects a path with
# "/path:user:password"; a password that is not a crypt hash ($1$, $5$, $6$) is stored in clear.
# The target's files are read only through rbscan (list, read); no host path is opened.
# Needs: sed, grep, base64 (coreutils), from /usr/bin:/bin.
set -u

read -r request || exit 0

# One JSON string value from stdin: the characters a message may hold, others replaced.
clean() { tr -c 'A-Za-z0-9 ._/:@=+,()-' '?' | cut -c1-200; }

printf '{"type":"list","globs":["**/httpd.conf","**/httpd*.conf"]}\n'
read -r listing || exit 0
paths=$(printf '%s\n' "$listing" | grep -o '"path":"[^"]*","size":[0-9]*,"type":"file"' | sed 's/^"path":"\([^"]*\)".*/\1/')

observations=""
for path in $paths; do
  printf '{"type":"read","path":"%s","offset":0,"length":1048576}\n' "$path"
  read -r answer || exit 0
  case "$answer" in *'"type":"data"'*) ;; *) continue ;; esac
  data=$(printf '%s' "$answer" | sed 's/.*"data":"\([^"]*\)".*/\1/' | base64 -d 2>/dev/null)
  line=0
  # Lines of the form /path:user:password (the first field a path).
  printf '%s\n' "$data" | while IFS= read -r text; do
    line=$((line + 1))
    case "$text" in
      /*:*:*)
        pass=${text#*:*:}
        rest=${text#*:}; user=${rest%%:*}; prefix=${text%%:*}
        case "$pass" in '$1$'*|'$5$'*|'$6$'*|'') continue ;; esac
        user=$(printf '%s' "$user" | clean); prefix=$(printf '%s' "$prefix" | clean); file=$(printf '%s' "$path" | clean)
        printf '{"path":"%s","line":%d,"message":"%s is protected by user %s whose password is stored in clear (not a crypt hash)","evidence":{"key":"clear:%s:%s","snippet":"%s:%s:********"}}\n' \
          "$file" "$line" "$prefix" "$user" "$prefix" "$user" "$prefix" "$user"
        ;;
    esac
  done > "$HOME/found.$$"
  observations="$observations$(paste -sd, "$HOME/found.$$")"
  [ -s "$HOME/found.$$" ] && observations="$observations,"
  rm -f "$HOME/found.$$"
done
observations=${observations%,}
printf '{"type":"result","observations":[%s]}\n' "$observations"
