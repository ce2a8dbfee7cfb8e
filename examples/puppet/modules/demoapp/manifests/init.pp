# Installs demoapp from the server group's package repository and configures it.
# The repository is the one SmokeStack publishes for the job (APT_CONFIG points apt at it).
# With listen => true the host serves greetings on $port (the package's demoapp.socket, which
# needs systemd: container hosts have it); with server => NAME it is a client of that host.
class demoapp (
  String $greeting = 'Hello',
  Integer[1, 65535] $port = 8080,
  String $ensure = 'latest',
  Boolean $listen = false,
  Optional[String[1]] $server = undef,
) {
  package { 'demoapp':
    ensure => $ensure,
  }

  file { '/etc/demoapp':
    ensure  => directory,
    mode    => '0755',
    require => Package['demoapp'],
  }

  file { '/etc/demoapp/demoapp.conf':
    ensure  => file,
    mode    => '0644',
    content => epp('demoapp/demoapp.conf.epp', { 'greeting' => $greeting, 'port' => $port, 'server' => $server }),
  }

  # The self-check validates the configuration whenever it changes.
  exec { 'demoapp-check':
    command     => '/usr/bin/demoapp check',
    refreshonly => true,
    subscribe   => [File['/etc/demoapp/demoapp.conf'], Package['demoapp']],
  }

  if $listen {
    service { 'demoapp.socket':
      ensure    => running,
      enable    => true,
      subscribe => [Package['demoapp'], File['/etc/demoapp/demoapp.conf']],
    }
  }
}
