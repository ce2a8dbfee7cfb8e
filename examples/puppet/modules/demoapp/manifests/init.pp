# Installs demoapp from the server group's package repository and configures it.
# The repository is the one SmokeStack publishes for the job (APT_CONFIG points apt at it).
class demoapp (
  String $greeting = 'Hello',
  Integer[1, 65535] $port = 8080,
  String $ensure = 'latest',
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
    content => epp('demoapp/demoapp.conf.epp', { 'greeting' => $greeting, 'port' => $port }),
  }

  # demoapp has no daemon: the service-less check validates the configuration whenever it changes.
  exec { 'demoapp-check':
    command     => '/usr/bin/demoapp check',
    refreshonly => true,
    subscribe   => [File['/etc/demoapp/demoapp.conf'], Package['demoapp']],
  }
}
