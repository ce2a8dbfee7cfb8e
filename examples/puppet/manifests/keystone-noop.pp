# Compiles a catalog with Debian's real OpenStack Keystone module (puppet-module-keystone and its
# dependencies: openstacklib, oslo, inifile, stdlib, ...). Applied with --noop: it proves the manifest
# and modules compile and resolve together, without changing the host.
class { 'keystone::db':
  database_connection => 'sqlite:////var/lib/keystone/keystone.db',
}

class { 'keystone':
  manage_service      => false,
  enabled             => false,
  service_name        => 'httpd',
  sync_db             => false,
  enable_fernet_setup => false,
}
