-- LuaRocks project settings: this tree is a LuaRocks project (this folder
-- and lua_modules/ mark it), built for Lua 5.4 whatever the system's
-- default.  `luarocks make` installs into ./lua_modules; add
-- `--tree DIR` (e.g. --tree /usr/local as root) to install elsewhere.
return "5.4"
