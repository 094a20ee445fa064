<?php
// Rendered by tarn from examples/pond/templates/app.php for {{project}}/{{environment}}.
return [
    'name'        => '{{site_name}}',
    'url'         => 'https://{{domain}}',
    'db_password' => '{{db_password}}',
];
